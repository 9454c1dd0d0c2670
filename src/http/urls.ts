/**
 * Every URL berth hands out (Location, Link). Relative by default; with an external URL (a registry
 * behind an ingress) they are absolute on that address.
 */
export class Urls {
  constructor(private readonly base = '') {}

  upload(name: string, id: string): string {
    return `${this.base}/v2/${name}/blobs/uploads/${id}`;
  }
  blob(name: string, digest: string): string {
    return `${this.base}/v2/${name}/blobs/${digest}`;
  }
  manifest(name: string, digest: string): string {
    return `${this.base}/v2/${name}/manifests/${digest}`;
  }
  tags(name: string, n: number, last: string): string {
    return `${this.base}/v2/${name}/tags/list?n=${n}&last=${encodeURIComponent(last)}`;
  }
  catalog(n: number, last: string): string {
    return `${this.base}/v2/_catalog?n=${n}&last=${encodeURIComponent(last)}`;
  }
}
