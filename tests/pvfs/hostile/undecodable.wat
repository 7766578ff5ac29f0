;; Returns 3 bytes that are not a ValidationResult: head_data claims 63 bytes, none follow.
(module
  (memory (export "memory") 17)
  (global (export "__heap_base") i32 (i32.const 1048576))
  (data (i32.const 64) "\fc\01\02")
  (func (export "validate_block") (param i32 i32) (result i64)
    (i64.or (i64.const 64) (i64.shl (i64.const 3) (i64.const 32)))))
