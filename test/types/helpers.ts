/** True only when A and B are the same type (`any` equals nothing but `any`). */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

/** True when T is `any`. */
export type IsAny<T> = 0 extends 1 & T ? true : false

/** `expectType<Equal<X, Y>>(true)` fails to compile unless the check is true. */
export function expectType<T extends true> (value: T): void {}

/** Marks a value as used (these files are type-checked, never run). */
export function use (...values: unknown[]): void {}

// The helpers themselves must be able to fail.
// @ts-expect-error unknown is not any
expectType<Equal<unknown, any>>(true)
// @ts-expect-error a wider type is not equal
expectType<Equal<string, string | undefined>>(true)
expectType<Equal<IsAny<any>, true>>(true)
expectType<Equal<IsAny<unknown>, false>>(true)
