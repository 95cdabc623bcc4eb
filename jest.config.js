/** One jest run: unit, contract (every adapter), Redis-specific and HTTP e2e suites. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/libs'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  // The kernel alias of tsconfig.json (the build rewrites it to relative paths with tsc-alias).
  moduleNameMapper: { '^@kernel$': '<rootDir>/libs/redis-atomic/src', '^@kernel/(.*)$': '<rootDir>/libs/redis-atomic/src/$1' },
  testTimeout: 30000,
  maxWorkers: 2,
};
