// Every workflow the worker registers.
export { bookingWorkflow } from './booking';
export { maintenanceWorkflow } from './maintenance';
export { withdrawalWorkflow } from './withdrawal';
