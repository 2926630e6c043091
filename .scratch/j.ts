import { penguinsSpeciesModel, penguinsSexModel } from '../src';
import { signedDesignRows } from '../src/kernels/logistic';
for (const f of [penguinsSpeciesModel, penguinsSexModel]) { const m: any = f(); const t = m.target ?? m; console.log(t.spec.N, signedDesignRows(t.spec).J); }
