; Perl definitions: subs, and packages written as blocks.
(subroutine_declaration_statement
  name: (_) @name) @definition.function

(package_statement
  name: (_) @name
  (block)) @definition.module
