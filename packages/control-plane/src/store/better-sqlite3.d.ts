// better-sqlite3 ships no types and @types/better-sqlite3 is not installed, so this declares
// the small part of its API that the SQLite store uses.
declare module 'better-sqlite3' {
  export interface RunResult {
    changes: number;
    lastInsertRowid: number | bigint;
  }

  export interface SqliteStatement<Row = unknown> {
    run(...parameters: unknown[]): RunResult;
    get(...parameters: unknown[]): Row | undefined;
    all(...parameters: unknown[]): Row[];
  }

  export interface SqliteDatabase {
    readonly open: boolean;
    readonly inTransaction: boolean;
    prepare<Row = unknown>(source: string): SqliteStatement<Row>;
    exec(source: string): SqliteDatabase;
    pragma(source: string, options?: { simple?: boolean }): unknown;
    close(): SqliteDatabase;
  }

  export interface SqliteOptions {
    readonly?: boolean;
    fileMustExist?: boolean;
    timeout?: number;
  }

  const Database: new (filename: string, options?: SqliteOptions) => SqliteDatabase;
  export default Database;
}
