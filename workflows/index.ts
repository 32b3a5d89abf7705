// Every workflow the worker registers.
export { maintenanceWorkflow } from './maintenance';
