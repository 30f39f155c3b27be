; Solidity definitions. Contracts and libraries are classes, interfaces are
; interfaces; their functions and modifiers are methods.
(contract_declaration
  name: (identifier) @name) @definition.class

(library_declaration
  name: (identifier) @name) @definition.class

(interface_declaration
  name: (identifier) @name) @definition.interface

(struct_declaration
  name: (identifier) @name) @definition.struct

(enum_declaration
  name: (identifier) @name) @definition.enum

(function_definition
  name: (identifier) @name) @definition.function

(modifier_definition
  name: (identifier) @name) @definition.function
