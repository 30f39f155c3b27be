; Rust definitions. An impl is named by its type, so its functions become
; methods of that type (impl Trait for Foo -> Foo.method).
(function_item
  name: (identifier) @name) @definition.function

(function_signature_item
  name: (identifier) @name) @definition.function

(struct_item
  name: (type_identifier) @name) @definition.struct

(union_item
  name: (type_identifier) @name) @definition.struct

(enum_item
  name: (type_identifier) @name) @definition.enum

(trait_item
  name: (type_identifier) @name) @definition.trait

(impl_item
  type: [
    (type_identifier) @name
    (generic_type type: (type_identifier) @name)
    (generic_type type: (scoped_type_identifier name: (type_identifier) @name))
    (scoped_type_identifier name: (type_identifier) @name)
  ]) @definition.impl

(mod_item
  name: (identifier) @name
  body: (_)) @definition.module

(macro_definition
  name: (identifier) @name) @definition.function
