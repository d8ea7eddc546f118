// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './lint/layers.js';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.cluster/', 'out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    files: ['operator/src/**/*.ts'],
    ignores: ['operator/src/**/*.test.ts'],
    plugins: { layers },
    rules: { 'layers/no-upward-import': 'error' },
  },
  {
    files: ['test/**/*.ts', 'operator/src/**/*.test.ts', 'operator/src/api/generate.ts'],
    rules: { 'no-console': 'off' },
  },
);
