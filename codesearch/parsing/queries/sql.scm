; SQL definitions: functions and procedures, tables and views.
(create_function
  (object_reference
    name: (identifier) @name)) @definition.function

(create_procedure
  (object_reference
    name: (identifier) @name)) @definition.function

(create_table
  (object_reference
    name: (identifier) @name)) @definition.struct

(create_view
  (object_reference
    name: (identifier) @name)) @definition.struct
