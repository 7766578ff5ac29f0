;; An adder parachain written for pvf's own tests and its built-in sample, with the semantics of
;; polkadot-sdk's `adder` test parachain, in the shape of a Cumulus runtime: it imports its memory
;; from the host and hashes through the host API.
;;
;;   HeadData  = { number: u64, parent_hash: [u8; 32], post_state: [u8; 32] }   (72 bytes)
;;   BlockData = { state: u64, add: u64 }                                         (16 bytes)
;;   valid iff keccak256(state as u64 LE) == parent.post_state
;;   new head  = { number + 1, keccak256(parent_head bytes), keccak256((state + add) as u64 LE) }
;;   result    = ValidationResult { head_data, None, [], [], 0, hrmp_watermark = relay_parent_number }
;;
;; A failure logs a panic message at level 0 (error), target "runtime", then executes `unreachable`,
;; as a Rust runtime's panic handler does.
(module
  (import "env" "memory" (memory 17))
  (import "env" "ext_hashing_keccak_256_version_1" (func $keccak (param i64) (result i32)))
  (import "env" "ext_allocator_malloc_version_1" (func $malloc (param i32) (result i32)))
  (import "env" "ext_logging_log_version_1" (func $log (param i32 i64 i64)))

  (global $__heap_base i32 (i32.const 1048576))
  (export "__heap_base" (global $__heap_base))

  (data (i32.const 1024) "runtime")
  (data (i32.const 1040) "Invalid input data: compact length")
  (data (i32.const 1088) "Invalid input data: input too short")
  (data (i32.const 1136) "invalid parent head: expected 72 bytes")
  (data (i32.const 1184) "invalid block data format: expected 16 bytes")
  (data (i32.const 1248) "Executes block: StateMismatch")

  ;; span(ptr, len) = ptr | len << 32
  (func $span (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.extend_i32_u (local.get $ptr))
            (i64.shl (i64.extend_i32_u (local.get $len)) (i64.const 32))))

  (func $panic (param $msg i32) (param $len i32)
    (call $log (i32.const 0) (call $span (i32.const 1024) (i32.const 7)) (call $span (local.get $msg) (local.get $len)))
    unreachable)

  ;; Copy 32 bytes (MVP has no memory.copy).
  (func $copy32 (param $dst i32) (param $src i32)
    (i64.store (local.get $dst) (i64.load (local.get $src)))
    (i64.store offset=8 (local.get $dst) (i64.load offset=8 (local.get $src)))
    (i64.store offset=16 (local.get $dst) (i64.load offset=16 (local.get $src)))
    (i64.store offset=24 (local.get $dst) (i64.load offset=24 (local.get $src))))

  ;; Decode a SCALE compact length (1- or 2-byte mode) at $p, not reading past $end.
  ;; Returns the length; the width consumed is left in $width.
  (global $width (mut i32) (i32.const 0))
  (func $compact (param $p i32) (param $end i32) (result i32)
    (local $b i32)
    (if (i32.ge_u (local.get $p) (local.get $end)) (then (call $panic (i32.const 1040) (i32.const 34))))
    (local.set $b (i32.load8_u (local.get $p)))
    (if (i32.eqz (i32.and (local.get $b) (i32.const 3)))
      (then (global.set $width (i32.const 1)) (return (i32.shr_u (local.get $b) (i32.const 2)))))
    (if (i32.eq (i32.and (local.get $b) (i32.const 3)) (i32.const 1))
      (then
        (if (i32.gt_u (i32.add (local.get $p) (i32.const 2)) (local.get $end))
          (then (call $panic (i32.const 1040) (i32.const 34))))
        (global.set $width (i32.const 2))
        (return (i32.shr_u (i32.load16_u (local.get $p)) (i32.const 2)))))
    (call $panic (i32.const 1040) (i32.const 34))
    (i32.const 0))

  (func (export "validate_block") (param $params i32) (param $len i32) (result i64)
    (local $p i32) (local $end i32) (local $head i32) (local $head_len i32)
    (local $block i32) (local $block_len i32) (local $relay_number i32)
    (local $state i64) (local $add i64) (local $h i32) (local $out i32)
    (local.set $p (local.get $params))
    (local.set $end (i32.add (local.get $params) (local.get $len)))
    ;; parent_head: Vec<u8>
    (local.set $head_len (call $compact (local.get $p) (local.get $end)))
    (local.set $head (i32.add (local.get $p) (global.get $width)))
    (local.set $p (i32.add (local.get $head) (local.get $head_len)))
    ;; block_data: Vec<u8>
    (if (i32.gt_u (local.get $p) (local.get $end)) (then (call $panic (i32.const 1088) (i32.const 35))))
    (local.set $block_len (call $compact (local.get $p) (local.get $end)))
    (local.set $block (i32.add (local.get $p) (global.get $width)))
    (local.set $p (i32.add (local.get $block) (local.get $block_len)))
    ;; relay_parent_number: u32, relay_parent_storage_root: [u8; 32]
    (if (i32.gt_u (i32.add (local.get $p) (i32.const 36)) (local.get $end))
      (then (call $panic (i32.const 1088) (i32.const 35))))
    (local.set $relay_number (i32.load (local.get $p)))

    (if (i32.ne (local.get $head_len) (i32.const 72)) (then (call $panic (i32.const 1136) (i32.const 38))))
    (if (i32.ne (local.get $block_len) (i32.const 16)) (then (call $panic (i32.const 1184) (i32.const 44))))
    (local.set $state (i64.load (local.get $block)))
    (local.set $add (i64.load offset=8 (local.get $block)))

    ;; keccak256(state LE) must equal parent.post_state (bytes 40..72 of the head)
    (i64.store (i32.const 2048) (local.get $state))
    (local.set $h (call $keccak (call $span (i32.const 2048) (i32.const 8))))
    (if (i32.or
          (i32.or (i64.ne (i64.load (local.get $h)) (i64.load offset=40 (local.get $head)))
                  (i64.ne (i64.load offset=8 (local.get $h)) (i64.load offset=48 (local.get $head))))
          (i32.or (i64.ne (i64.load offset=16 (local.get $h)) (i64.load offset=56 (local.get $head)))
                  (i64.ne (i64.load offset=24 (local.get $h)) (i64.load offset=64 (local.get $head)))))
      (then (call $panic (i32.const 1248) (i32.const 29))))

    ;; ValidationResult: 2 + 72 + 1 + 1 + 1 + 4 + 4 = 85 bytes
    (local.set $out (call $malloc (i32.const 85)))
    (i32.store16 (local.get $out) (i32.const 0x0121))                 ;; compact(72)
    (i64.store offset=2 (local.get $out) (i64.add (i64.load (local.get $head)) (i64.const 1)))
    (call $copy32 (i32.add (local.get $out) (i32.const 10))
      (call $keccak (call $span (local.get $head) (i32.const 72))))
    (i64.store (i32.const 2048) (i64.add (local.get $state) (local.get $add)))
    (call $copy32 (i32.add (local.get $out) (i32.const 42))
      (call $keccak (call $span (i32.const 2048) (i32.const 8))))
    (i32.store8 offset=74 (local.get $out) (i32.const 0))             ;; new_validation_code: None
    (i32.store8 offset=75 (local.get $out) (i32.const 0))             ;; upward_messages: []
    (i32.store8 offset=76 (local.get $out) (i32.const 0))             ;; horizontal_messages: []
    (i32.store offset=77 (local.get $out) (i32.const 0))              ;; processed_downward_messages
    (i32.store offset=81 (local.get $out) (local.get $relay_number))  ;; hrmp_watermark
    (call $span (local.get $out) (i32.const 85)))
)
