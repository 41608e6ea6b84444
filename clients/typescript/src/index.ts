export { createCustosClient, type AuthorizeAnswer, type AuthorizeRequest, type CustosClient, type CustosClientOptions, type Purpose, type Schemas, type SuppressionLine } from './client.ts';
export { CustosProblem, type ProblemBody } from './problem.ts';
export type { components, operations, paths } from './schema.d.ts';
