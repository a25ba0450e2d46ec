import { MemoryBuildQueue } from "../../src/build-queue/memory/MemoryBuildQueue.ts"
import { buildQueueContract } from "./BuildQueueContract.ts"

buildQueueContract("memory", MemoryBuildQueue.layer)
