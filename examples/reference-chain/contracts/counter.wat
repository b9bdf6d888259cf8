;; A counter contract: `increment` adds one to its state entry "count" and returns the new
;; value (u64 little-endian); `read` returns it. Deploy with
;;   wes-node contract deploy examples/reference-chain/contracts/counter.wat --from alice
(module
  (import "wes" "state_get" (func $get (param i32 i32 i32 i32) (result i32)))
  (import "wes" "state_set" (func $set (param i32 i32 i32 i32)))
  (import "wes" "set_return" (func $ret (param i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "count")
  (func (export "increment")
    (local $n i64)
    (if (i32.eq (call $get (i32.const 0) (i32.const 5) (i32.const 32) (i32.const 8)) (i32.const 8))
      (then (local.set $n (i64.load (i32.const 32)))))
    (i64.store (i32.const 32) (i64.add (local.get $n) (i64.const 1)))
    (call $set (i32.const 0) (i32.const 5) (i32.const 32) (i32.const 8))
    (call $ret (i32.const 32) (i32.const 8)))
  (func (export "read")
    (drop (call $get (i32.const 0) (i32.const 5) (i32.const 32) (i32.const 8)))
    (call $ret (i32.const 32) (i32.const 8))))
