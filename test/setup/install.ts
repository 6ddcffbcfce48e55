// `npm run test:setup`: installs what the tests need besides Node (Debian packages, as root).
// `npm run test:setup -- --check` only says what is missing (exit 1 when something is).
import { canInstall, install, missingLine, missingPrerequisites, packagesOf } from './prerequisites.ts'

const checkOnly = process.argv.includes('--check')
const missing = missingPrerequisites()
if (missing.length === 0) {
  console.log('test prerequisites: all present')
} else if (checkOnly || !canInstall()) {
  console.error(missingLine(missing))
  process.exitCode = 1
} else {
  console.log(`installing ${packagesOf(missing).join(' ')}`)
  if (install(missing)) console.log('test prerequisites: all present')
  else {
    console.error(missingLine(missingPrerequisites()))
    process.exitCode = 1
  }
}
