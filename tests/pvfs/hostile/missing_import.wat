;; Imports a storage function PVFs do not get; instantiation works, the call traps.
(module
  (import "env" "memory" (memory 17))
  (import "env" "ext_storage_get_version_1" (func $get (param i64) (result i64)))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (func (export "validate_block") (param i32 i32) (result i64)
    (call $get (i64.const 0))))
