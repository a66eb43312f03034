import type { Runtime, TensorInfo } from './wisp';

export interface RgbImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

export declare function decodeBmp(bytes: ArrayBuffer | Uint8Array): RgbImage & { channels: 3 };
export declare function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): Uint8Array;
export declare function rgbToGray(rgb: Uint8Array, width: number, height: number): Uint8Array;
/**
 * range: the pixel range a float32 input expects; default input.range (what the model records),
 * an error for a float32 input when neither says.
 */
export declare function imageToTensor(runtime: Runtime, image: RgbImage, input: TensorInfo,
  options?: { range?: '0,1' | '0,255' | '-1,1' }): Promise<Uint8Array | Int8Array | Float32Array>;
export declare function topK(data: ArrayLike<number>, k?: number): number[];
