;; Grows its memory one page at a time until memory.grow fails, then traps: the engine's page cap
;; decides where. Before trapping it stores the page count it reached at address 0 and logs it.
(module
  (import "env" "memory" (memory 17))
  (import "env" "ext_logging_log_version_1" (func $log (param i32 i64 i64)))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (data (i32.const 16) "runtime")
  (func (export "validate_block") (param i32 i32) (result i64)
    (block $done
      (loop $l
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $l)))
    unreachable))
