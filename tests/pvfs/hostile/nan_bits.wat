;; Float operations that produce NaN, their raw bits returned as head_data (f32 0/0, f64 sqrt(-1),
;; f32 NaN-with-payload + 1): every engine must return the same, canonical, bits.
(module
  (import "env" "memory" (memory 17))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (func (export "validate_block") (param i32 i32) (result i64)
    (i32.store8 (i32.const 64) (i32.const 0x40)) ;; compact(16)
    (i32.store (i32.const 65) (i32.reinterpret_f32 (f32.div (f32.const 0) (f32.const 0))))
    (i64.store (i32.const 69) (i64.reinterpret_f64 (f64.sqrt (f64.const -1))))
    (i32.store (i32.const 77) (i32.reinterpret_f32 (f32.add (f32.reinterpret_i32 (i32.const 0x7fa00001)) (f32.const 1))))
    (i64.store (i32.const 81) (i64.const 0))
    (i32.store (i32.const 89) (i32.const 0))
    (i64.or (i64.const 64) (i64.shl (i64.const 29) (i64.const 32)))))
