; F# definitions. Modules hold functions; types hold members (methods).
(named_module
  name: (_) @name) @definition.module

(module_defn
  .
  (identifier) @name) @definition.module

(namespace
  name: (_) @name) @definition.module

(function_or_value_defn
  (function_declaration_left
    .
    (identifier) @name)) @definition.function

(type_definition
  (anon_type_defn
    (type_name
      type_name: (_) @name))) @definition.class

(type_definition
  (interface_type_defn
    (type_name
      type_name: (_) @name))) @definition.interface

(type_definition
  (record_type_defn
    (type_name
      type_name: (_) @name))) @definition.struct

(type_definition
  (union_type_defn
    (type_name
      type_name: (_) @name))) @definition.enum

(type_definition
  (enum_type_defn
    (type_name
      type_name: (_) @name))) @definition.enum

(member_defn
  (method_or_prop_defn
    name: (property_or_ident
      method: (identifier) @name))) @definition.method

(member_defn
  (method_or_prop_defn
    name: (property_or_ident
      !instance
      .
      (identifier) @name))) @definition.method
