// Package mapping is the attribute-mapping expression language of the
// provisioning engine: Entra ID's syntax and function set
// (Join(" ", [givenName], [surname])), compiled and type-checked when a
// mapping is saved, evaluated per object against its source attributes.
//
// Compile parses and checks an expression; errors carry the 1-based character
// position of the problem. An *Expr is immutable and safe for concurrent use;
// Eval runs it against an Env, which supplies attribute values and may
// implement the optional extensions Clock, Randomness (determinism in tests),
// UniquenessChecker (SelectUniqueValue) and AppRoles
// (SingleAppRoleAssignment). Eval reports IgnoreFlowIfNullOrEmpty firing as
// ErrIgnoreFlow.
//
// Values are nil (null), string, bool, float64, time.Time or []string. The
// language follows Entra's documented semantics and fixes its documented
// quirks: IIF on a null or empty value evaluates the condition as false
// instead of failing, Switch depends only on the object it is given (it never
// blanks a target because an unrelated attribute changed), And and Or exist.
// docs/expressions.md is the reference for every function and each decision.
package mapping
