;; Returns a span that starts inside memory and runs past its end (ptr 0x100000, len 0x2000000).
(module
  (import "env" "memory" (memory 17))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (func (export "validate_block") (param i32 i32) (result i64)
    (i64.or (i64.const 0x100000) (i64.shl (i64.const 0x2000000) (i64.const 32)))))
