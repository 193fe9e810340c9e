/** SOQL builder, literals and describe-driven field selection. */
export { from, subquery, cond, and, or, not, field, Condition, SoqlQuery, OPERATORS, SELECT_FUNCTIONS, type Operator } from './builder.ts';
export { literal, escapeString, escapeLike, likePattern, soqlDate, dateLiteral, SoqlLiteral, type SoqlValue } from './literals.ts';
export { fieldsFor, COMPOUND_TYPES, type FieldsForOptions } from './fields.ts';
export { parseCondition, SoqlConditionError, type ParsedCondition } from './condition.ts';
