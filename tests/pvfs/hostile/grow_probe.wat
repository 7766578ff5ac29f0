;; Grows its memory one page at a time until memory.grow refuses, then returns a ValidationResult
;; whose head_data is the page count it reached (u32 LE): the engine's effective page cap.
(module
  (import "env" "memory" (memory 17))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (func (export "validate_block") (param i32 i32) (result i64)
    (block $done
      (loop $l
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $l)))
    ;; head_data = compact(4) ‖ pages; new_validation_code None; no messages; 0; 0
    (i32.store8 (i32.const 64) (i32.const 0x10))
    (i32.store (i32.const 65) (memory.size))
    (i64.store (i32.const 69) (i64.const 0))
    (i32.store (i32.const 77) (i32.const 0))
    (i64.or (i64.const 64) (i64.shl (i64.const 16) (i64.const 32)))))
