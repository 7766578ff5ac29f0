;; Logs one error-level line of 100 MiB (NUL bytes: valid UTF-8, six characters each once escaped
;; in JSON), then returns a well-formed ValidationResult: 12 zero bytes (empty head data, no code,
;; no messages, 0 processed, watermark 0). The verdict must be valid whatever the host does with
;; the line (core/logs.ts bounds what it keeps).
(module
  (import "env" "memory" (memory 1700))
  (import "env" "ext_logging_log_version_1" (func $log (param i32 i64 i64)))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (data (i32.const 16) "runtime")
  (func (export "validate_block") (param i32 i32) (result i64)
    ;; target: 7 bytes at 16; message: 100 MiB at 1 MiB
    (call $log (i32.const 0)
      (i64.or (i64.const 16) (i64.shl (i64.const 7) (i64.const 32)))
      (i64.or (i64.const 1048576) (i64.shl (i64.const 104857600) (i64.const 32))))
    ;; the result: 12 zero bytes at 1024
    (i64.or (i64.const 1024) (i64.shl (i64.const 12) (i64.const 32)))))
