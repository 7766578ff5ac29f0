;; Panics like a Rust runtime: logs the message at level 0 (error), target "runtime", then traps.
(module
  (import "env" "memory" (memory 17))
  (import "env" "ext_logging_log_version_1" (func $log (param i32 i64 i64)))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (data (i32.const 16) "runtime")
  (data (i32.const 32) "panicked at 'hostile: unreachable'")
  (func (export "validate_block") (param i32 i32) (result i64)
    (call $log (i32.const 0) (i64.or (i64.const 16) (i64.shl (i64.const 7) (i64.const 32)))
                             (i64.or (i64.const 32) (i64.shl (i64.const 34) (i64.const 32))))
    unreachable))
