/** A value loaded on demand, one load shared by concurrent askers, kept while `fresh` says it may be. */
export class CachedValue<T> {
  private value: T | undefined;
  private loading: Promise<T> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly fresh: (value: T) => boolean,
  ) {}

  get = (): Promise<T> => {
    if (this.value !== undefined && this.fresh(this.value)) return Promise.resolve(this.value);
    this.loading ??= this.load()
      .then((v) => (this.value = v))
      .finally(() => (this.loading = undefined));
    return this.loading;
  };
}
