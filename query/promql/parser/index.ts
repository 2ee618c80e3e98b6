export { parseExpr, type ParseOptions, type QueryDurations } from './parse.ts';
export { printExpr } from './printer.ts';
export { PromQLParseError, type ParseErrorCode } from './errors.ts';
export { exprType, documentedType } from './types.ts';
