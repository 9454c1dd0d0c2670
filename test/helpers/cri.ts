/**
 * A client of a container runtime's CRI image service over its unix socket, asking exactly what a
 * kubelet asks when a pod needs an image (cri.proto beside this file).
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface CriImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: string;
}

export interface CriAuth {
  username: string;
  password: string;
}

export interface ImageService {
  /** The image's reference (its config digest, as containerd answers), or the runtime's error. */
  pullImage(image: string, auth?: CriAuth): Promise<string>;
  listImages(): Promise<CriImage[]>;
  /** undefined when the runtime does not have it. */
  imageStatus(image: string): Promise<CriImage | undefined>;
  close(): void;
}

type Unary = (req: unknown, opts: { deadline: number }, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export function criImageService(socket: string, timeoutMs = 180_000): ImageService {
  const def = protoLoader.loadSync(fileURLToPath(new URL('./cri.proto', import.meta.url)), { longs: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { runtime: { v1: { ImageService: grpc.ServiceClientConstructor } } };
  const client = new pkg.runtime.v1.ImageService(`unix://${socket}`, grpc.credentials.createInsecure()) as unknown as Record<string, Unary> & grpc.Client;
  const call = <T>(method: string, req: unknown) =>
    new Promise<T>((resolve, reject) => client[method]!.call(client, req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res as T))));
  return {
    async pullImage(image, auth) {
      // as the kubelet sends it: the image, the credential for its registry, the pod's sandbox
      const req = { image: { image }, ...(auth ? { auth } : {}), sandboxConfig: { metadata: { name: 'web', uid: 'pod-uid-1', namespace: 'default', attempt: 0 } } };
      return (await call<{ imageRef: string }>('PullImage', req)).imageRef;
    },
    async listImages() {
      return (await call<{ images: CriImage[] }>('ListImages', {})).images;
    },
    async imageStatus(image) {
      return (await call<{ image: CriImage | null }>('ImageStatus', { image: { image } })).image ?? undefined;
    },
    close: () => client.close(),
  };
}
