;; Burns CPU: an outer loop of N rounds (N = the first 4 bytes of the params, u32 LE; 0 without
;; params) of 1,000,000 inner iterations, in one function (no calls, so no tier-up mid-way), then
;; returns a well-formed ValidationResult (12 zero bytes). Tests calibrate N to a CPU budget.
(module
  (import "env" "memory" (memory 17))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (func (export "validate_block") (param $p i32) (param $len i32) (result i64)
    (local $n i32) (local $i i32) (local $j i32) (local $acc i32)
    (if (i32.ge_u (local.get $len) (i32.const 4)) (then (local.set $n (i32.load (local.get $p)))))
    (block $done
      (loop $outer
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $j (i32.const 0))
        (loop $inner
          (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $j)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $inner (i32.lt_u (local.get $j) (i32.const 1000000))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    ;; keep the work observable, away from the result bytes
    (i32.store (i32.const 2048) (local.get $acc))
    (i64.or (i64.const 1024) (i64.shl (i64.const 12) (i64.const 32)))))
