(module
 (type $0 (func (result i32)))
 (type $1 (func (param i32) (result i32)))
 (type $2 (func (param i32 i32) (result i32)))
 (type $3 (func (param i32 i32 i64) (result i64)))
 (type $4 (func (param i32 i32 i32 i32) (result i32)))
 (memory $0 2 2)
 (export "inputPtr" (func $assembly/index/inputPtr))
 (export "inputCapacity" (func $assembly/index/inputCapacity))
 (export "outputPtr" (func $assembly/index/outputPtr))
 (export "argsPtr" (func $assembly/index/argsPtr))
 (export "resultPtr" (func $assembly/index/resultPtr))
 (export "optionsPtr" (func $assembly/index/optionsPtr))
 (export "numbersPtr" (func $assembly/index/numbersPtr))
 (export "batchPtr" (func $assembly/index/batchPtr))
 (export "recordsPtr" (func $assembly/index/recordsPtr))
 (export "batchCapacity" (func $assembly/index/batchCapacity))
 (export "parseArpNumbers" (func $assembly/index/parseArpNumbers))
 (export "parseArpBatch" (func $assembly/index/parseArpBatch))
 (export "parse" (func $assembly/index/parse))
 (export "buildArp" (func $assembly/index/buildArp))
 (export "buildNs" (func $assembly/index/buildNs))
 (export "buildNa" (func $assembly/index/buildNa))
 (export "memory" (memory $0))
 (func $assembly/checksum/addWords (param $0 i32) (param $1 i32) (param $2 i64) (result i64)
  (local $3 i32)
  (local $4 i32)
  loop $while-continue|0
   local.get $3
   i32.const 4
   i32.add
   local.tee $4
   local.get $1
   i32.le_u
   if
    local.get $2
    local.get $0
    local.get $3
    i32.add
    i32.load
    local.tee $3
    i32.const -16711936
    i32.and
    i32.const 8
    i32.rotl
    local.get $3
    i32.const 16711935
    i32.and
    i32.const 8
    i32.rotr
    i32.or
    i64.extend_i32_u
    i64.add
    local.set $2
    local.get $4
    local.set $3
    br $while-continue|0
   end
  end
  local.get $1
  local.get $3
  i32.const 2
  i32.add
  local.tee $4
  local.get $1
  i32.le_u
  if
   local.get $2
   local.get $0
   local.get $3
   i32.add
   i32.load16_u
   local.tee $1
   i32.const 8
   i32.shl
   local.get $1
   i32.const 8
   i32.shr_u
   i32.or
   i32.const 65535
   i32.and
   i64.extend_i32_u
   i64.add
   local.set $2
   local.get $4
   local.set $3
  end
  local.get $3
  i32.gt_u
  if (result i64)
   local.get $2
   local.get $0
   local.get $3
   i32.add
   i64.load8_u
   i64.const 8
   i64.shl
   i64.add
  else
   local.get $2
  end
 )
 (func $assembly/index/buildNdp (param $0 i32) (result i32)
  (local $1 i32)
  (local $2 i32)
  (local $3 i32)
  (local $4 i32)
  (local $5 i32)
  i32.const 16
  i32.const 0
  i32.const 66830
  i32.load8_u
  if (result i32)
   i32.const 66828
   i32.load16_u
   i32.const 4095
   i32.gt_u
  else
   i32.const 0
  end
  select
  local.tee $1
  i32.eqz
  if
   i32.const 14
   local.set $1
   block $__inlined_func$assembly/ndp/checkNdpArgs$37
    i32.const 66888
    i32.load8_u
    i32.const 255
    i32.eq
    br_if $__inlined_func$assembly/ndp/checkNdpArgs$37
    local.get $0
    i32.const 255
    i32.and
    i32.const 135
    i32.eq
    if
     i32.const 15
     local.set $1
     i32.const 66856
     i64.load
     i32.const 66864
     i64.load
     i64.or
     i64.eqz
     if (result i32)
      i32.const 66872
      i64.load
      i64.const 767
      i64.eq
      if (result i32)
       i32.const 66880
       i32.load
       i32.const 16777216
       i32.eq
      else
       i32.const 0
      end
      if (result i32)
       i32.const 66884
       i32.load8_u
       i32.const 255
       i32.eq
      else
       i32.const 0
      end
      if (result i32)
       i32.const 66831
       i32.load8_u
      else
       i32.const 1
      end
     else
      i32.const 0
     end
     br_if $__inlined_func$assembly/ndp/checkNdpArgs$37
    else
     i32.const 15
     local.set $1
     i32.const 66904
     i32.load8_u
     i32.const 64
     i32.and
     if (result i32)
      i32.const 66872
      i32.load8_u
      i32.const 255
      i32.eq
     else
      i32.const 0
     end
     br_if $__inlined_func$assembly/ndp/checkNdpArgs$37
    end
    i32.const 0
    local.set $1
   end
  end
  local.get $1
  if
   i32.const 0
   local.get $1
   i32.sub
   return
  end
  block $__inlined_func$assembly/ethernet/emitEthernet$3 (result i32)
   i32.const 66560
   i32.const 66816
   i32.load
   i32.store
   i32.const 66564
   i32.const 66820
   i32.load16_u
   i32.store16
   i32.const 66566
   i32.const 66822
   i32.load
   i32.store
   i32.const 66570
   i32.const 66826
   i32.load16_u
   i32.store16
   i32.const 66830
   i32.load8_u
   if
    i32.const 66572
    i32.const 129
    i32.store16
    i32.const 66574
    i32.const 66828
    i32.load16_u
    local.tee $1
    i32.const 8
    i32.shl
    local.get $1
    i32.const 8
    i32.shr_u
    i32.or
    i32.store16
    i32.const 66576
    i32.const 56710
    i32.store16
    i32.const 18
    br $__inlined_func$assembly/ethernet/emitEthernet$3
   end
   i32.const 66572
   i32.const 56710
   i32.store16
   i32.const 14
  end
  local.tee $1
  i32.const 66560
  i32.add
  local.set $3
  i32.const 32
  i32.const 24
  i32.const 66831
  i32.load8_u
  i32.const 0
  i32.ne
  local.tee $2
  select
  local.set $5
  local.get $3
  i32.const 96
  i32.store
  local.get $3
  local.get $5
  i32.const 8
  i32.shl
  local.get $5
  i32.const 65535
  i32.and
  i32.const 8
  i32.shr_u
  i32.or
  i32.store16 offset=4
  local.get $3
  i32.const 58
  i32.store8 offset=6
  local.get $3
  i32.const 255
  i32.store8 offset=7
  local.get $3
  i32.const 66856
  i64.load
  i64.store offset=8
  local.get $3
  i32.const 66864
  i64.load
  i64.store offset=16
  local.get $3
  i32.const 66872
  i64.load
  i64.store offset=24
  local.get $3
  i32.const 66880
  i64.load
  i64.store offset=32
  local.get $3
  i32.const 40
  i32.add
  local.tee $4
  local.get $0
  i32.store8
  local.get $4
  i32.const 0
  i32.store8 offset=1
  local.get $4
  i32.const 0
  i32.store16 offset=2
  local.get $4
  local.get $0
  i32.const 255
  i32.and
  i32.const 136
  i32.eq
  if (result i32)
   i32.const 66904
   i32.load8_u
   i32.const 224
   i32.and
  else
   i32.const 0
  end
  i32.store offset=4
  local.get $4
  i32.const 66888
  i64.load
  i64.store offset=8
  local.get $4
  i32.const 66896
  i64.load
  i64.store offset=16
  local.get $2
  if
   local.get $4
   i32.const 1
   i32.const 2
   local.get $0
   i32.const 255
   i32.and
   i32.const 135
   i32.eq
   select
   i32.store8 offset=24
   local.get $4
   i32.const 1
   i32.store8 offset=25
   local.get $4
   i32.const 66906
   i32.load
   i32.store offset=26
   local.get $4
   i32.const 66910
   i32.load16_u
   i32.store16 offset=30
  end
  local.get $4
  local.get $3
  i32.const 8
  i32.add
  local.get $3
  i32.const 24
  i32.add
  local.get $4
  local.get $5
  call $assembly/checksum/icmpv6Sum
  i32.const -1
  i32.xor
  i32.const 65535
  i32.and
  local.tee $0
  i32.const 8
  i32.shl
  local.get $0
  i32.const 8
  i32.shr_u
  i32.or
  i32.store16 offset=2
  local.get $1
  local.get $5
  i32.const 40
  i32.add
  i32.add
 )
 (func $assembly/checksum/icmpv6Sum (param $0 i32) (param $1 i32) (param $2 i32) (param $3 i32) (result i32)
  (local $4 i64)
  local.get $2
  local.get $3
  local.get $1
  i32.const 16
  local.get $0
  i32.const 16
  local.get $3
  i64.extend_i32_u
  i64.const 58
  i64.add
  call $assembly/checksum/addWords
  call $assembly/checksum/addWords
  call $assembly/checksum/addWords
  local.set $4
  loop $while-continue|0
   local.get $4
   i64.const 65535
   i64.gt_u
   if
    local.get $4
    i64.const 65535
    i64.and
    local.get $4
    i64.const 16
    i64.shr_u
    i64.add
    local.set $4
    br $while-continue|0
   end
  end
  local.get $4
  i32.wrap_i64
 )
 (func $assembly/ndp/parseNdp (param $0 i32) (param $1 i32) (result i32)
  (local $2 i32)
  (local $3 i32)
  (local $4 i32)
  (local $5 i32)
  (local $6 i32)
  (local $7 i32)
  (local $8 i32)
  (local $9 i32)
  (local $10 i32)
  local.get $1
  i32.const 40
  i32.lt_u
  if
   i32.const 1
   return
  end
  local.get $0
  i32.load8_u
  i32.const 4
  i32.shr_u
  i32.const 6
  i32.ne
  if
   i32.const 6
   return
  end
  local.get $0
  i32.load8_u offset=6
  i32.const 58
  i32.ne
  if
   i32.const 7
   return
  end
  local.get $0
  i32.load16_u offset=4
  local.tee $3
  i32.const 8
  i32.shl
  local.get $3
  i32.const 8
  i32.shr_u
  i32.or
  i32.const 65535
  i32.and
  local.tee $9
  local.get $1
  i32.const 40
  i32.sub
  i32.gt_u
  if
   i32.const 1
   return
  end
  local.get $9
  i32.const 4
  i32.lt_u
  if
   i32.const 11
   return
  end
  local.get $0
  i32.const 40
  i32.add
  local.tee $7
  i32.load8_u
  local.tee $3
  i32.const 136
  i32.ne
  local.get $3
  i32.const 135
  i32.ne
  i32.and
  if
   i32.const 8
   return
  end
  local.get $0
  i32.load8_u offset=7
  i32.const 255
  i32.ne
  if
   i32.const 9
   return
  end
  local.get $7
  i32.load8_u offset=1
  if
   i32.const 10
   return
  end
  local.get $9
  i32.const 24
  i32.lt_u
  if
   i32.const 11
   return
  end
  local.get $0
  i32.const 8
  i32.add
  local.get $0
  i32.const 24
  i32.add
  local.get $7
  local.get $9
  call $assembly/checksum/icmpv6Sum
  i32.const 65535
  i32.ne
  if
   i32.const 12
   return
  end
  local.get $7
  i32.load8_u offset=8
  i32.const 255
  i32.eq
  if
   i32.const 14
   return
  end
  i32.const 1
  i32.const 2
  local.get $3
  i32.const 135
  i32.eq
  select
  local.set $6
  i32.const 24
  local.set $1
  loop $while-continue|0
   local.get $1
   local.get $9
   i32.lt_u
   if
    local.get $9
    local.get $1
    i32.sub
    i32.const 2
    i32.lt_u
    if
     i32.const 13
     return
    end
    local.get $1
    local.get $7
    i32.add
    local.tee $10
    i32.load8_u
    local.set $8
    local.get $10
    i32.load8_u offset=1
    i32.const 3
    i32.shl
    local.tee $10
    i32.eqz
    local.get $10
    local.get $9
    local.get $1
    i32.sub
    i32.gt_u
    i32.or
    if
     i32.const 13
     return
    end
    local.get $8
    i32.const 2
    i32.eq
    local.get $8
    i32.const 1
    i32.eq
    i32.or
    local.get $10
    i32.const 8
    i32.ne
    i32.and
    if
     i32.const 13
     return
    end
    local.get $4
    i32.const 8192
    i32.ge_u
    if
     i32.const 13
     return
    end
    i32.const 1
    local.get $5
    local.get $8
    i32.const 1
    i32.eq
    select
    local.set $5
    local.get $2
    i32.eqz
    local.get $6
    local.get $8
    i32.eq
    i32.and
    if
     i32.const 66960
     local.get $1
     local.get $7
     i32.add
     local.tee $2
     i32.load offset=2
     i32.store
     i32.const 66964
     local.get $2
     i32.load16_u offset=6
     i32.store16
     i32.const 1
     local.set $2
    end
    local.get $4
    i32.const 2
    i32.shl
    i32.const 67024
    i32.add
    local.get $1
    local.get $7
    i32.add
    i32.const 1024
    i32.sub
    i32.store
    local.get $4
    i32.const 1
    i32.add
    local.set $4
    local.get $1
    local.get $10
    i32.add
    local.set $1
    br $while-continue|0
   end
  end
  local.get $3
  i32.const 135
  i32.eq
  if
   local.get $0
   i64.load offset=8
   local.get $0
   i64.load offset=16
   i64.or
   i64.eqz
   if (result i32)
    local.get $5
    local.get $0
    i64.load offset=24
    i64.const 767
    i64.eq
    if (result i32)
     local.get $0
     i32.load offset=32
     i32.const 16777216
     i32.eq
    else
     i32.const 0
    end
    if (result i32)
     local.get $0
     i32.load8_u offset=36
     i32.const 255
     i32.eq
    else
     i32.const 0
    end
    i32.eqz
    i32.or
   else
    i32.const 0
   end
   if
    i32.const 15
    return
   end
  else
   local.get $7
   i32.load8_u offset=4
   i32.const 64
   i32.and
   if (result i32)
    local.get $0
    i32.load8_u offset=24
    i32.const 255
    i32.eq
   else
    i32.const 0
   end
   if
    i32.const 15
    return
   end
  end
  i32.const 66912
  i32.const 2
  i32.const 3
  local.get $3
  i32.const 135
  i32.eq
  select
  i32.store8
  i32.const 66954
  i32.const 255
  i32.store8
  i32.const 66919
  local.get $3
  i32.const 136
  i32.eq
  if (result i32)
   local.get $7
   i32.load8_u offset=4
   i32.const 224
   i32.and
  else
   i32.const 0
  end
  i32.store8
  i32.const 66918
  local.get $2
  i32.store8
  i32.const 66956
  local.get $4
  i32.store
  i32.const 66968
  local.get $0
  i64.load offset=8
  i64.store
  i32.const 66976
  local.get $0
  i64.load offset=16
  i64.store
  i32.const 66984
  local.get $0
  i64.load offset=24
  i64.store
  i32.const 66992
  local.get $0
  i64.load offset=32
  i64.store
  i32.const 67000
  local.get $7
  i64.load offset=8
  i64.store
  i32.const 67008
  local.get $7
  i64.load offset=16
  i64.store
  i32.const 0
 )
 (func $assembly/index/resultPtr (result i32)
  i32.const 66912
 )
 (func $assembly/index/recordsPtr (result i32)
  i32.const 103936
 )
 (func $assembly/index/parseArpNumbers (param $0 i32) (result i32)
  (local $1 i32)
  (local $2 i64)
  (local $3 i32)
  (local $4 i32)
  block $assembly/index/arpHeader|inlined.0 (result i32)
   i32.const -2
   local.get $0
   i32.const 65536
   i32.gt_u
   br_if $assembly/index/arpHeader|inlined.0
   drop
   i32.const -1
   local.get $0
   i32.const 14
   i32.lt_u
   br_if $assembly/index/arpHeader|inlined.0
   drop
   i32.const 1036
   i32.load16_u
   local.tee $1
   i32.const 129
   i32.eq
   if (result i32)
    i32.const -1
    local.get $0
    i32.const 18
    i32.lt_u
    br_if $assembly/index/arpHeader|inlined.0
    drop
    i32.const 1040
    i32.load16_u
    local.set $1
    i32.const 18
   else
    i32.const 14
   end
   i32.const -3
   local.get $1
   i32.const 1544
   i32.ne
   br_if $assembly/index/arpHeader|inlined.0
   drop
  end
  local.tee $3
  i32.const 0
  i32.lt_s
  if
   i32.const 0
   local.get $3
   i32.sub
   return
  end
  local.get $3
  i32.const 1024
  i32.add
  local.set $4
  i32.const 1
  local.set $1
  block $assembly/arp/checkArp|inlined.0
   local.get $0
   local.get $3
   i32.sub
   i32.const 28
   i32.lt_u
   br_if $assembly/arp/checkArp|inlined.0
   i32.const 4
   local.set $1
   local.get $4
   i32.load
   i32.const 524544
   i32.ne
   if (result i32)
    i32.const 1
   else
    local.get $4
    i32.load16_u offset=4
    i32.const 1030
    i32.ne
   end
   br_if $assembly/arp/checkArp|inlined.0
   i32.const 5
   local.set $1
   local.get $4
   i32.load16_u offset=6
   local.tee $0
   i32.const 512
   i32.ne
   local.get $0
   i32.const 256
   i32.ne
   i32.and
   br_if $assembly/arp/checkArp|inlined.0
   i32.const 0
   local.set $1
  end
  local.get $1
  i32.eqz
  if
   i32.const 99792
   local.get $4
   i32.load16_u offset=6
   local.tee $0
   i32.const 8
   i32.shl
   local.get $0
   i32.const 8
   i32.shr_u
   i32.or
   i32.const 65535
   i32.and
   f64.convert_i32_u
   f64.store
   i32.const 99800
   local.get $4
   i32.load offset=10
   local.tee $0
   i32.const -16711936
   i32.and
   i32.const 8
   i32.rotl
   local.get $0
   i32.const 16711935
   i32.and
   i32.const 8
   i32.rotr
   i32.or
   i64.extend_i32_u
   local.get $4
   i32.load16_u offset=8
   local.tee $0
   i32.const 8
   i32.shl
   local.get $0
   i32.const 8
   i32.shr_u
   i32.or
   i32.const 65535
   i32.and
   i64.extend_i32_u
   i64.const 32
   i64.shl
   i64.or
   f64.convert_i64_u
   f64.store
   i32.const 99808
   local.get $4
   i32.load offset=14
   local.tee $0
   i32.const -16711936
   i32.and
   i32.const 8
   i32.rotl
   local.get $0
   i32.const 16711935
   i32.and
   i32.const 8
   i32.rotr
   i32.or
   f64.convert_i32_u
   f64.store
   i32.const 99816
   local.get $4
   i32.load offset=20
   local.tee $0
   i32.const -16711936
   i32.and
   i32.const 8
   i32.rotl
   local.get $0
   i32.const 16711935
   i32.and
   i32.const 8
   i32.rotr
   i32.or
   i64.extend_i32_u
   local.get $4
   i32.load16_u offset=18
   local.tee $0
   i32.const 8
   i32.shl
   local.get $0
   i32.const 8
   i32.shr_u
   i32.or
   i32.const 65535
   i32.and
   i64.extend_i32_u
   i64.const 32
   i64.shl
   i64.or
   f64.convert_i64_u
   f64.store
   i32.const 99824
   local.get $4
   i32.load offset=24
   local.tee $0
   i32.const -16711936
   i32.and
   i32.const 8
   i32.rotl
   local.get $0
   i32.const 16711935
   i32.and
   i32.const 8
   i32.rotr
   i32.or
   f64.convert_i32_u
   f64.store
  end
  local.get $1
 )
 (func $assembly/index/parseArpBatch (param $0 i32) (param $1 i32) (result i32)
  (local $2 i64)
  (local $3 i32)
  (local $4 i32)
  (local $5 i32)
  (local $6 i32)
  (local $7 i32)
  (local $8 i32)
  (local $9 i32)
  (local $10 i64)
  local.get $0
  i32.const 512
  i32.gt_u
  if
   i32.const -16
   return
  end
  i32.const 65536
  local.get $1
  local.get $1
  i32.const 65536
  i32.gt_u
  select
  local.set $5
  loop $for-loop|0
   local.get $0
   local.get $4
   i32.gt_u
   if
    local.get $4
    i32.const 5
    i32.shl
    i32.const 103936
    i32.add
    local.set $3
    block $for-continue|0
     local.get $4
     i32.const 3
     i32.shl
     i32.const 99840
     i32.add
     i64.load
     local.tee $2
     i32.wrap_i64
     local.tee $1
     local.get $5
     local.get $2
     i64.const 32
     i64.shr_u
     i32.wrap_i64
     local.tee $8
     i32.sub
     i32.gt_u
     local.get $5
     local.get $8
     i32.lt_u
     i32.or
     local.get $8
     i32.const 65536
     i32.le_u
     i32.and
     if
      i32.const 16
      local.set $1
     else
      local.get $1
      i32.const 1024
      i32.add
      local.set $7
      block $assembly/index/arpHeader|inlined.1 (result i32)
       i32.const -2
       local.get $8
       i32.const 65536
       i32.gt_u
       br_if $assembly/index/arpHeader|inlined.1
       drop
       i32.const -1
       local.get $8
       i32.const 14
       i32.lt_u
       br_if $assembly/index/arpHeader|inlined.1
       drop
       i32.const 14
       local.set $1
       i32.const -3
       local.get $7
       i32.load16_u offset=12
       local.tee $9
       i32.const 129
       i32.eq
       if (result i32)
        i32.const -1
        local.get $8
        i32.const 18
        i32.lt_u
        br_if $assembly/index/arpHeader|inlined.1
        drop
        i32.const 18
        local.set $1
        local.get $7
        i32.load16_u offset=16
       else
        local.get $9
       end
       i32.const 1544
       i32.ne
       br_if $assembly/index/arpHeader|inlined.1
       drop
       local.get $1
      end
      local.tee $1
      i32.const 0
      i32.lt_s
      if
       i32.const 0
       local.get $1
       i32.sub
       local.set $1
      else
       local.get $1
       local.get $7
       i32.add
       local.set $7
       block $assembly/arp/parseArpRecord|inlined.0 (result i32)
        i32.const 1
        local.get $8
        local.get $1
        i32.sub
        i32.const 28
        i32.lt_u
        br_if $assembly/arp/parseArpRecord|inlined.0
        drop
        i32.const 4
        local.get $7
        i64.load
        local.tee $2
        i64.const 281474976710655
        i64.and
        i64.const 4423816839424
        i64.ne
        br_if $assembly/arp/parseArpRecord|inlined.0
        drop
        i32.const 5
        local.get $2
        i64.const 48
        i64.shr_u
        i32.wrap_i64
        local.tee $1
        i32.const 512
        i32.ne
        local.get $1
        i32.const 256
        i32.ne
        i32.and
        br_if $assembly/arp/parseArpRecord|inlined.0
        drop
        local.get $7
        i32.load offset=24
        local.set $8
        local.get $3
        local.get $1
        i32.const 8
        i32.shr_u
        i64.extend_i32_u
        local.get $7
        i64.load offset=8
        local.tee $2
        i64.const 48
        i64.shr_u
        i32.wrap_i64
        local.get $7
        i64.load offset=16
        local.tee $10
        i32.wrap_i64
        i32.const 16
        i32.shl
        i32.or
        local.tee $1
        i32.const -16711936
        i32.and
        i32.const 8
        i32.rotl
        local.get $1
        i32.const 16711935
        i32.and
        i32.const 8
        i32.rotr
        i32.or
        i64.extend_i32_u
        i64.const 32
        i64.shl
        i64.or
        i64.store
        local.get $3
        local.get $8
        i32.const -16711936
        i32.and
        i32.const 8
        i32.rotl
        local.get $8
        i32.const 16711935
        i32.and
        i32.const 8
        i32.rotr
        i32.or
        i64.extend_i32_u
        local.get $2
        i32.wrap_i64
        local.tee $1
        i32.const 8
        i32.shl
        local.get $1
        i32.const 65535
        i32.and
        i32.const 8
        i32.shr_u
        i32.or
        i32.const 65535
        i32.and
        i64.extend_i32_u
        i64.const 32
        i64.shl
        i64.or
        i64.store offset=8
        local.get $3
        local.get $2
        i64.const 16
        i64.shr_u
        i32.wrap_i64
        local.tee $1
        i32.const -16711936
        i32.and
        i32.const 8
        i32.rotl
        local.get $1
        i32.const 16711935
        i32.and
        i32.const 8
        i32.rotr
        i32.or
        i64.extend_i32_u
        local.get $10
        i64.const 16
        i64.shr_u
        i32.wrap_i64
        local.tee $1
        i32.const 8
        i32.shl
        local.get $1
        i32.const 65535
        i32.and
        i32.const 8
        i32.shr_u
        i32.or
        i32.const 65535
        i32.and
        i64.extend_i32_u
        i64.const 32
        i64.shl
        i64.or
        i64.store offset=16
        local.get $3
        local.get $10
        i64.const 32
        i64.shr_u
        i32.wrap_i64
        local.tee $1
        i32.const -16711936
        i32.and
        i32.const 8
        i32.rotl
        local.get $1
        i32.const 16711935
        i32.and
        i32.const 8
        i32.rotr
        i32.or
        i64.extend_i32_u
        i64.store offset=24
        i32.const 0
       end
       local.tee $1
       i32.eqz
       if
        local.get $6
        i32.const 1
        i32.add
        local.set $6
        br $for-continue|0
       end
      end
     end
     local.get $3
     local.get $1
     i32.store offset=28
    end
    local.get $4
    i32.const 1
    i32.add
    local.set $4
    br $for-loop|0
   end
  end
  local.get $6
 )
 (func $assembly/index/parse (param $0 i32) (result i32)
  (local $1 i32)
  (local $2 i32)
  (local $3 i32)
  (local $4 i32)
  local.get $0
  i32.const 65536
  i32.gt_u
  if
   i32.const 2
   return
  end
  i32.const 66912
  i32.const 0
  i32.store8
  block $__inlined_func$assembly/ethernet/parseEthernet$1 (result i32)
   i32.const -1
   local.get $0
   i32.const 14
   i32.lt_u
   br_if $__inlined_func$assembly/ethernet/parseEthernet$1
   drop
   i32.const 14
   local.set $4
   i32.const 1036
   i32.load16_u
   local.tee $1
   i32.const 8
   i32.shl
   local.get $1
   i32.const 8
   i32.shr_u
   i32.or
   local.tee $1
   i32.const 65535
   i32.and
   i32.const 33024
   i32.eq
   if
    i32.const -1
    local.get $0
    i32.const 18
    i32.lt_u
    br_if $__inlined_func$assembly/ethernet/parseEthernet$1
    drop
    i32.const 1
    local.set $2
    i32.const 1038
    i32.load16_u
    local.tee $1
    i32.const 8
    i32.shl
    local.get $1
    i32.const 8
    i32.shr_u
    i32.or
    i32.const 4095
    i32.and
    local.set $3
    i32.const 18
    local.set $4
    i32.const 1040
    i32.load16_u
    local.tee $1
    i32.const 8
    i32.shl
    local.get $1
    i32.const 8
    i32.shr_u
    i32.or
    local.set $1
   end
   i32.const 66920
   i32.const 1024
   i32.load
   i32.store
   i32.const 66924
   i32.const 1028
   i32.load16_u
   i32.store16
   i32.const 66926
   i32.const 1030
   i32.load
   i32.store
   i32.const 66930
   i32.const 1034
   i32.load16_u
   i32.store16
   i32.const 66913
   local.get $2
   i32.store8
   i32.const 66914
   local.get $3
   i32.store16
   i32.const 66916
   local.get $1
   i32.store16
   local.get $4
  end
  local.tee $1
  i32.const 0
  i32.lt_s
  if
   i32.const 0
   local.get $1
   i32.sub
   return
  end
  local.get $0
  local.get $1
  i32.sub
  local.set $2
  i32.const 66916
  i32.load16_u
  local.tee $0
  i32.const 2054
  i32.eq
  if
   local.get $1
   i32.const 1024
   i32.add
   local.set $1
   i32.const 1
   local.set $0
   block $assembly/arp/checkArp|inlined.1
    local.get $2
    i32.const 28
    i32.lt_u
    br_if $assembly/arp/checkArp|inlined.1
    i32.const 4
    local.set $0
    local.get $1
    i32.load
    i32.const 524544
    i32.ne
    if (result i32)
     i32.const 1
    else
     local.get $1
     i32.load16_u offset=4
     i32.const 1030
     i32.ne
    end
    br_if $assembly/arp/checkArp|inlined.1
    i32.const 5
    local.set $0
    local.get $1
    i32.load16_u offset=6
    local.tee $2
    i32.const 512
    i32.ne
    local.get $2
    i32.const 256
    i32.ne
    i32.and
    br_if $assembly/arp/checkArp|inlined.1
    i32.const 0
    local.set $0
   end
   local.get $0
   if (result i32)
    local.get $0
   else
    i32.const 66912
    i32.const 1
    i32.store8
    i32.const 66932
    local.get $1
    i32.load16_u offset=6
    local.tee $0
    i32.const 8
    i32.shl
    local.get $0
    i32.const 8
    i32.shr_u
    i32.or
    i32.store16
    i32.const 66934
    local.get $1
    i32.const 8
    i32.add
    i32.load
    i32.store
    i32.const 66938
    local.get $1
    i32.load16_u offset=12
    i32.store16
    i32.const 66940
    local.get $1
    i32.load offset=14
    i32.store
    i32.const 66944
    local.get $1
    i32.const 18
    i32.add
    i32.load
    i32.store
    i32.const 66948
    local.get $1
    i32.load16_u offset=22
    i32.store16
    i32.const 66950
    local.get $1
    i32.load offset=24
    i32.store
    i32.const 0
   end
   return
  end
  local.get $0
  i32.const 34525
  i32.eq
  if
   local.get $1
   i32.const 1024
   i32.add
   local.get $2
   call $assembly/ndp/parseNdp
   return
  end
  i32.const 3
 )
 (func $assembly/index/outputPtr (result i32)
  i32.const 66560
 )
 (func $assembly/index/optionsPtr (result i32)
  i32.const 67024
 )
 (func $assembly/index/numbersPtr (result i32)
  i32.const 99792
 )
 (func $assembly/index/inputPtr (result i32)
  i32.const 1024
 )
 (func $assembly/index/inputCapacity (result i32)
  i32.const 65536
 )
 (func $assembly/index/buildNs (result i32)
  i32.const 135
  call $assembly/index/buildNdp
 )
 (func $assembly/index/buildNa (result i32)
  i32.const 136
  call $assembly/index/buildNdp
 )
 (func $assembly/index/buildArp (result i32)
  (local $0 i32)
  (local $1 i32)
  (local $2 i32)
  i32.const 16
  i32.const 0
  i32.const 66830
  i32.load8_u
  if (result i32)
   i32.const 66828
   i32.load16_u
   i32.const 4095
   i32.gt_u
  else
   i32.const 0
  end
  select
  local.tee $0
  i32.eqz
  if
   i32.const 0
   i32.const 5
   i32.const 66832
   i32.load16_u
   local.tee $0
   i32.const 2
   i32.eq
   local.get $0
   i32.const 1
   i32.eq
   i32.or
   select
   local.set $0
  end
  local.get $0
  if
   i32.const 0
   local.get $0
   i32.sub
   return
  end
  block $__inlined_func$assembly/ethernet/emitEthernet$2 (result i32)
   i32.const 66560
   i32.const 66816
   i32.load
   i32.store
   i32.const 66564
   i32.const 66820
   i32.load16_u
   i32.store16
   i32.const 66566
   i32.const 66822
   i32.load
   i32.store
   i32.const 66570
   i32.const 66826
   i32.load16_u
   i32.store16
   i32.const 66830
   i32.load8_u
   if
    i32.const 66572
    i32.const 129
    i32.store16
    i32.const 66574
    i32.const 66828
    i32.load16_u
    local.tee $0
    i32.const 8
    i32.shl
    local.get $0
    i32.const 8
    i32.shr_u
    i32.or
    i32.store16
    i32.const 66576
    i32.const 1544
    i32.store16
    i32.const 18
    br $__inlined_func$assembly/ethernet/emitEthernet$2
   end
   i32.const 66572
   i32.const 1544
   i32.store16
   i32.const 14
  end
  local.tee $0
  i32.const 66560
  i32.add
  local.tee $2
  i32.const 256
  i32.store16
  local.get $2
  i32.const 8
  i32.store16 offset=2
  local.get $2
  i32.const 6
  i32.store8 offset=4
  local.get $2
  i32.const 4
  i32.store8 offset=5
  local.get $2
  i32.const 66832
  i32.load16_u
  local.tee $1
  i32.const 8
  i32.shl
  local.get $1
  i32.const 8
  i32.shr_u
  i32.or
  i32.store16 offset=6
  local.get $2
  i32.const 8
  i32.add
  i32.const 66834
  i32.load
  i32.store
  local.get $2
  i32.const 66838
  i32.load16_u
  i32.store16 offset=12
  local.get $2
  i32.const 66840
  i32.load
  i32.store offset=14
  local.get $2
  i32.const 18
  i32.add
  i32.const 66844
  i32.load
  i32.store
  local.get $2
  i32.const 66848
  i32.load16_u
  i32.store16 offset=22
  local.get $2
  i32.const 66850
  i32.load
  i32.store offset=24
  local.get $0
  i32.const 28
  i32.add
  local.tee $0
  i32.const 60
  i32.lt_u
  if (result i32)
   local.get $0
   i32.const 66560
   i32.add
   i32.const 0
   i32.const 60
   local.get $0
   i32.sub
   memory.fill
   i32.const 60
  else
   local.get $0
  end
 )
 (func $assembly/index/batchPtr (result i32)
  i32.const 99840
 )
 (func $assembly/index/batchCapacity (result i32)
  i32.const 512
 )
 (func $assembly/index/argsPtr (result i32)
  i32.const 66816
 )
)
