;; Logs N error-level lines of 4 KiB each (N = the first 4 bytes of the params, u32 LE; 25600, that
;; is 100 MiB, without params), then returns a well-formed ValidationResult (12 zero bytes). The
;; host keeps at most its total bound (1 MiB), then one marker line.
(module
  (import "env" "memory" (memory 17))
  (import "env" "ext_logging_log_version_1" (func $log (param i32 i64 i64)))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (data (i32.const 16) "runtime")
  (func (export "validate_block") (param $p i32) (param $len i32) (result i64)
    (local $i i32) (local $n i32)
    (local.set $n (i32.const 25600))
    (if (i32.ge_u (local.get $len) (i32.const 4)) (then (local.set $n (i32.load (local.get $p)))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $log (i32.const 0)
          (i64.or (i64.const 16) (i64.shl (i64.const 7) (i64.const 32)))
          (i64.or (i64.const 65536) (i64.shl (i64.const 4096) (i64.const 32))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i64.or (i64.const 1024) (i64.shl (i64.const 12) (i64.const 32)))))
