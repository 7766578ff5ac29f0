;; Uses a sign-extension operation (part of polkadot's feature set: MVP + sign-ext) and returns a
;; well-formed ValidationResult whose head data is i32.extend8_s(0xff) = -1: ff ff ff ff.
(module
  (import "env" "memory" (memory 17))
  (global (export "__heap_base") i32 (i32.const 1048576))
  (func (export "validate_block") (param i32 i32) (result i64)
    (i32.store8 (i32.const 1024) (i32.const 16))
    (i32.store (i32.const 1025) (i32.extend8_s (i32.const 255)))
    (i64.or (i64.const 1024) (i64.shl (i64.const 17) (i64.const 32)))))
