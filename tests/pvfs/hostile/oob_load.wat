;; Loads from an address far outside its 17-page memory.
(module
  (import "env" "memory" (memory 17))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (func (export "validate_block") (param i32 i32) (result i64)
    (i64.load (i32.const 0x7ffffff0))))
