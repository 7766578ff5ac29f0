;; Calls ext_logging_log_version_1 with a target span far outside its memory. Substrate's runtime
;; interface cannot read the argument and the call traps: invalid (execution-error) on every
;; engine (the fuzz campaign found wasmi answering abstain internal-error).
(module
  (import "env" "memory" (memory 17))
  (import "env" "ext_logging_log_version_1" (func $log (param i32 i64 i64)))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (func (export "validate_block") (param i32 i32) (result i64)
    (call $log (i32.const 0) (i64.const -64) (i64.const 16))
    (i64.or (i64.const 1024) (i64.shl (i64.const 12) (i64.const 32)))))
