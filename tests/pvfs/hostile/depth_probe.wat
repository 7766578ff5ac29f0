;; Recurses to the depth given as the first 4 bytes of its params (u32 LE) and returns the depth
;; reached as head_data (u32 LE): valid up to the deepest depth the stack limit allows, a trap
;; beyond it. The side channel for "at exactly the same logical depth on every engine".
(module
  (import "env" "memory" (memory 17))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (func $f (param $n i32) (param $cap i32) (result i32)
    (if (result i32) (i32.ge_u (local.get $n) (local.get $cap))
      (then (local.get $n))
      (else (call $f (i32.add (local.get $n) (i32.const 1)) (local.get $cap)))))
  (func (export "validate_block") (param $p i32) (param $len i32) (result i64)
    (i32.store (i32.const 65) (call $f (i32.const 0) (i32.load (local.get $p))))
    (i32.store8 (i32.const 64) (i32.const 0x10))
    (i64.store (i32.const 69) (i64.const 0))
    (i32.store (i32.const 77) (i32.const 0))
    (i64.or (i64.const 64) (i64.shl (i64.const 16) (i64.const 32)))))
