;; Allocates 1 MiB blocks from the host allocator until it fails (which traps).
(module
  (import "env" "memory" (memory 17))
  (import "env" "ext_allocator_malloc_version_1" (func $malloc (param i32) (result i32)))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (func (export "validate_block") (param i32 i32) (result i64)
    (loop $l
      (drop (call $malloc (i32.const 1048576)))
      (br $l))
    (i64.const 0)))
