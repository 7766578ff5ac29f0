;; Asks the host allocator for 40 MiB, above its 32 MiB maximum allocation.
(module
  (import "env" "memory" (memory 17))
  (import "env" "ext_allocator_malloc_version_1" (func $malloc (param i32) (result i32)))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (func (export "validate_block") (param i32 i32) (result i64)
    (i64.extend_i32_u (call $malloc (i32.const 41943040)))))
