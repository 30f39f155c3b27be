; C definitions (also loaded for cpp). Only definitions with a body count;
; prototypes and forward declarations are left out.
(function_definition
  declarator: (function_declarator
    declarator: (_) @name)) @definition.function

(function_definition
  declarator: (pointer_declarator
    declarator: (function_declarator
      declarator: (_) @name))) @definition.function

(function_definition
  declarator: (pointer_declarator
    declarator: (pointer_declarator
      declarator: (function_declarator
        declarator: (_) @name)))) @definition.function

(struct_specifier
  name: (_) @name
  body: (_)) @definition.struct

(union_specifier
  name: (_) @name
  body: (_)) @definition.struct

(enum_specifier
  name: (_) @name
  body: (_)) @definition.enum

(type_definition
  type: (struct_specifier
    !name
    body: (_))
  declarator: (type_identifier) @name) @definition.struct

(type_definition
  type: (union_specifier
    !name
    body: (_))
  declarator: (type_identifier) @name) @definition.struct

(type_definition
  type: (enum_specifier
    !name
    body: (_))
  declarator: (type_identifier) @name) @definition.enum

; `typedef struct hashtable {...} hashtable_t;`: code names the type by its typedef, so
; the typedef is a definition too (the struct inside keeps its own name).
(type_definition
  type: (struct_specifier
    name: (_)
    body: (_))
  declarator: (type_identifier) @name) @definition.struct
