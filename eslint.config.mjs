// Lint: typescript-eslint's recommended rules on src/, test/ and scripts/.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'out/**',
      'notebooks/**',
      'shims/**',
      '.jupyter/**',
      'tools/jupyterlab/build/**',
      'tools/jupyterlab/node_modules/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  // webpack reads a CommonJS config
  { files: ['tools/jupyterlab/webpack.config.js'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
