;; Defines its memory and exports it as "mem", not "memory", then returns a well-formed
;; ValidationResult. polkadot's engine looks the memory up by the name `memory`
;; (sc-executor-wasmtime `get_linear_memory`): the candidate is invalid.
(module
  (memory (export "mem") 17)
  (global (export "__heap_base") i32 (i32.const 1048576))
  (func (export "validate_block") (param i32 i32) (result i64)
    (i64.or (i64.const 1024) (i64.shl (i64.const 12) (i64.const 32)))))
