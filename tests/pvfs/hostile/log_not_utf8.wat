;; Logs one line whose text is not UTF-8, then returns a well-formed ValidationResult (12 zero
;; bytes). The first params byte chooses which part is bad: 0 the message (Substrate's sp-io takes
;; it as &[u8] and drops it: valid), 1 the target (a &str: the runtime interface refuses it, the
;; call traps: invalid).
(module
  (import "env" "memory" (memory 17))
  (import "env" "ext_logging_log_version_1" (func $log (param i32 i64 i64)))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (data (i32.const 16) "runtime")
  (data (i32.const 32) "bad \ff\fe text")
  (func (export "validate_block") (param $p i32) (param $len i32) (result i64)
    (if (i32.eqz (i32.load8_u (local.get $p)))
      (then
        (call $log (i32.const 0)
          (i64.or (i64.const 16) (i64.shl (i64.const 7) (i64.const 32)))
          (i64.or (i64.const 32) (i64.shl (i64.const 11) (i64.const 32)))))
      (else
        (call $log (i32.const 0)
          (i64.or (i64.const 32) (i64.shl (i64.const 11) (i64.const 32)))
          (i64.or (i64.const 16) (i64.shl (i64.const 7) (i64.const 32))))))
    (i64.or (i64.const 1024) (i64.shl (i64.const 12) (i64.const 32)))))
