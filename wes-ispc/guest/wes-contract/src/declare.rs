//! Declarative contracts: [`contract!`](crate::contract!) (typed entry points and the ABI),
//! [`errors!`](crate::errors!), [`events!`](crate::events!) and [`record!`](crate::record!).
//!
//! They are `macro_rules!` macros: the contracts compile with Debian's Rust 1.63 for WASM, and
//! a proc-macro crate would add a build dependency to every contract for what patterns do as
//! well. Doc comments are the only attributes they accept on entry points, variants, events
//! and fields: the documentation goes into the ABI.

use crate::abi::EventDesc;
use crate::value::Encode;
use crate::{emit_event, Writer, MAX_EVENT_DATA};

/// An event declared with [`events!`](crate::events!): its topic is the struct's name, its data
/// the fields encoded in order.
pub trait Event: Encode {
    /// The event, as the ABI describes it.
    const DESC: EventDesc;

    /// Emits the event.
    fn emit(&self) {
        let mut w = Writer::<MAX_EVENT_DATA>::new();
        self.encode(&mut w);
        emit_event(Self::DESC.name, &w);
    }
}

/// Declares a contract: typed entry points, its events and errors, and its ABI.
///
/// ```ignore
/// #![no_std]
/// use wes_contract::*;
///
/// errors! {
///     pub enum Error {
///         /// Only the owner may mint.
///         NotOwner = 1 => "only the owner may do this",
///     }
/// }
///
/// events! {
///     /// Tokens were created.
///     pub struct Minted { pub amount: u64, pub to: Lock }
/// }
///
/// const OWNER: Item<Address> = Item::new(b"owner");
///
/// contract! {
///     errors: Error;
///     events: [Minted];
///
///     /// Makes the caller the owner.
///     pub fn init() { OWNER.set(&caller()); }
///
///     /// Creates tokens (owner only).
///     pub fn mint(amount: u64, to: Lock) -> Result<(), Error> {
///         ensure(OWNER.get() == Some(caller()), Error::NotOwner)?;
///         Minted { amount, to }.emit();
///         Ok(())
///     }
/// }
/// ```
///
/// Each `pub fn` stays a plain Rust function of that name, callable from the contract's own
/// code and tests. For each the macro adds an entry point of the same name that reads the
/// arguments in order (each as its [`Decode`](crate::Decode) says, the whole argument list at
/// most [`MAX_ARGS_LEN`](crate::MAX_ARGS_LEN) bytes, nothing left over), calls the function,
/// and turns what it returns into the call's return data (see [`Return`](crate::Return)): a
/// value is encoded, `Err(e)` fails the call with the error's code and message. In WASM the
/// entry points are exported functions; off WASM they are listed in `ENTRIES`, for
/// `wes_ispc::offchain`.
///
/// The macro also defines `ABI`, the contract's [`ContractDesc`](crate::abi::ContractDesc),
/// and `ABI_JSON`, its JSON, which a WASM build carries in the custom section
/// [`SECTION`](crate::abi::SECTION) (`wes:abi`). The node reads it from the stored module to
/// encode typed arguments and decode return data, events and errors; the deploy-time checker
/// refuses a module whose exports differ from its ABI's entries.
///
/// Use it once per contract, at the crate root. An entry point must not be named like a host
/// function (`height`, `call`, `args`...): the exported symbol would replace the import.
#[macro_export]
macro_rules! contract {
    (
        $(errors: $err:ty;)?
        $(events: [$($event:ty),* $(,)?];)?
        $(
            $(#[doc = $doc:literal])*
            pub fn $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) $(-> $ret:ty)? $body:block
        )*
    ) => {
        $(
            $(#[doc = $doc])*
            // An entry point takes what its callers send, however many values that is.
            #[allow(clippy::too_many_arguments)]
            pub fn $name($($arg: $ty),*) $(-> $ret)? $body
        )*

        /// The entry points: each reads its arguments, calls its function and sets the
        /// outcome.
        #[doc(hidden)]
        pub mod __wes_entries {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[cfg(target_arch = "wasm32")]
                #[no_mangle]
                pub extern "C" fn $name() {
                    $crate::__entry_body!($name ($($arg : $ty),*))
                }

                #[cfg(not(target_arch = "wasm32"))]
                pub fn $name() {
                    $crate::__entry_body!($name ($($arg : $ty),*))
                }
            )*
        }

        /// This contract's entry points by name, for an off-chain host.
        #[cfg(not(target_arch = "wasm32"))]
        pub const ENTRIES: &[(&str, fn())] =
            &[$((stringify!($name), __wes_entries::$name as fn())),*];

        /// This contract's interface.
        pub const ABI: $crate::abi::ContractDesc = $crate::abi::ContractDesc {
            name: module_path!(),
            hostabi: $crate::HOSTABI_VERSION,
            entries: &[$(
                $crate::abi::EntryDesc {
                    name: stringify!($name),
                    doc: &[$($doc),*],
                    args: &[$(
                        $crate::abi::Field {
                            name: stringify!($arg),
                            ty: <$ty as $crate::Type>::TY,
                        }
                    ),*],
                    returns: <$crate::__return_type!($($ret)?) as $crate::Return>::TY,
                }
            ),*],
            events: &[$($(<$event as $crate::Event>::DESC),*)?],
            errors: $crate::__errors_of!($($err)?),
        };

        /// This contract's interface as JSON (see `wes_contract::abi`).
        pub const ABI_JSON: [u8; $crate::abi::abi_len(&ABI)] =
            $crate::abi::abi_json::<{ $crate::abi::abi_len(&ABI) }>(&ABI);

        /// The ABI in the module's `wes:abi` custom section.
        #[cfg(target_arch = "wasm32")]
        #[link_section = "wes:abi"]
        #[used]
        static __WES_ABI: [u8; $crate::abi::abi_len(&ABI)] = ABI_JSON;
    };
}

/// The body of an entry point declared by [`contract!`]: read the arguments, call, finish.
#[doc(hidden)]
#[macro_export]
macro_rules! __entry_body {
    ($name:ident ($($arg:ident : $ty:ty),*)) => {{
        let mut buf = [0u8; $crate::MAX_ARGS_LEN];
        #[allow(unused_mut)]
        let mut reader = $crate::Reader::new($crate::args(&mut buf));
        $(let $arg = <$ty as $crate::Decode>::decode(&mut reader);)*
        reader.end();
        $crate::Return::finish(super::$name($($arg),*));
    }};
}

/// `()` when an entry point declares no return type.
#[doc(hidden)]
#[macro_export]
macro_rules! __return_type {
    () => {
        ()
    };
    ($ret:ty) => {
        $ret
    };
}

/// The ABI's errors: those of the declared error type, if any.
#[doc(hidden)]
#[macro_export]
macro_rules! __errors_of {
    () => {
        &[]
    };
    ($err:ty) => {
        <$err as $crate::ContractError>::ERRORS
    };
}

/// Declares a contract's errors: an enum whose variants each have a code (unique, checked at
/// compile time) and a message. Return `Err(variant)` from an entry point declared with
/// [`contract!`] to fail the call; the abort message is `#<code> <Name>: <message>`, which the
/// node decodes with the ABI into the code, name and message.
///
/// ```ignore
/// errors! {
///     /// What a token call can fail with.
///     pub enum Error {
///         /// The caller is not the owner.
///         NotOwner = 1 => "only the owner may do this",
///         ZeroAmount = 2 => "amount must be positive",
///     }
/// }
/// ```
#[macro_export]
macro_rules! errors {
    (
        $(#[doc = $doc:literal])*
        pub enum $name:ident {
            $(
                $(#[doc = $vdoc:literal])*
                $variant:ident = $code:literal => $msg:literal
            ),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, PartialEq, Eq)]
        #[repr(u32)]
        pub enum $name {
            $($(#[doc = $vdoc])* $variant = $code),*
        }

        impl $crate::ContractError for $name {
            const ERRORS: &'static [$crate::abi::ErrorDesc] = &[$(
                $crate::abi::ErrorDesc { code: $code, name: stringify!($variant), message: $msg }
            ),*];

            fn code(&self) -> u32 {
                *self as u32
            }
        }

        const _: () = assert!(
            $crate::abi::codes_unique(<$name as $crate::ContractError>::ERRORS),
            "two errors share a code"
        );
    };
}

/// Declares events: structs whose topic is their name and whose data is their fields encoded
/// in order. Emit one with [`Event::emit`]: `Minted { amount, to }.emit()`. A struct may
/// borrow (`pub struct Noted<'a> { pub text: &'a str }`).
#[macro_export]
macro_rules! events {
    ($(
        $(#[doc = $doc:literal])*
        pub struct $name:ident $(<$lt:lifetime>)? { $($fields:tt)* }
    )*) => {$(
        $crate::record! {
            $(#[doc = $doc])*
            pub struct $name $(<$lt>)? { $($fields)* }
        }

        impl $(<$lt>)? $crate::Event for $name $(<$lt>)? {
            const DESC: $crate::abi::EventDesc = $crate::abi::EventDesc {
                name: stringify!($name),
                doc: &[$($doc),*],
                fields: $crate::abi::record_fields(&<Self as $crate::Type>::TY),
            };
        }
    )*};
}

/// Declares a record: a struct encoded as its fields in order, usable as an argument, a return
/// value, an event or a stored value ([`Item`](crate::Item), [`Map`](crate::Map)). It may
/// borrow from the bytes it is read from (`pub struct Escrow<'a> { pub seller: &'a [u8] }`).
#[macro_export]
macro_rules! record {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident <$lt:lifetime> {
            $($(#[doc = $fdoc:literal])* pub $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub struct $name<$lt> {
            $($(#[doc = $fdoc])* pub $field: $ty),*
        }

        impl<$lt> $crate::Type for $name<$lt> {
            const TY: $crate::abi::Ty = $crate::abi::Ty::Record(
                stringify!($name),
                &[$($crate::abi::Field { name: stringify!($field), ty: <$ty as $crate::Type>::TY }),*],
            );
        }

        impl<$lt> $crate::Encode for $name<$lt> {
            fn encode<const N: usize>(&self, w: &mut $crate::Writer<N>) {
                $($crate::Encode::encode(&self.$field, w);)*
            }
        }

        impl<$lt> $crate::Decode<$lt> for $name<$lt> {
            fn decode(r: &mut $crate::Reader<$lt>) -> Self {
                $name { $($field: <$ty as $crate::Decode>::decode(r)),* }
            }
        }

        impl<'__v> $crate::WithLifetime<'__v> for $name<'_> {
            type Of = $name<'__v>;
        }
    };
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident {
            $($(#[doc = $fdoc:literal])* pub $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            $($(#[doc = $fdoc])* pub $field: $ty),*
        }

        impl $crate::Type for $name {
            const TY: $crate::abi::Ty = $crate::abi::Ty::Record(
                stringify!($name),
                &[$($crate::abi::Field { name: stringify!($field), ty: <$ty as $crate::Type>::TY }),*],
            );
        }

        impl $crate::Encode for $name {
            fn encode<const N: usize>(&self, w: &mut $crate::Writer<N>) {
                $($crate::Encode::encode(&self.$field, w);)*
            }
        }

        impl<'a> $crate::Decode<'a> for $name {
            fn decode(r: &mut $crate::Reader<'a>) -> Self {
                $name { $($field: <$ty as $crate::Decode>::decode(r)),* }
            }
        }

        impl<'__v> $crate::WithLifetime<'__v> for $name {
            type Of = $name;
        }
    };
}
