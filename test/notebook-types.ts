/** The parts of nbformat 4 that the notebook-tooling tests read (outputs, cells, notebooks). */
export interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  execution_count?: number | null;
}
export interface Cell {
  cell_type: string;
  source: string | string[];
  metadata: { slideshow?: { slide_type: string }; tags?: string[] } & Record<string, unknown>;
  outputs?: Output[];
  execution_count?: number | null;
  id?: string;
}
export interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}
