// What makes MLflow 3's UI show vae-lab's experiments as model training rather than as GenAI apps.

/**
 * MLflow's tag for an experiment's kind; the UI's value for model training (the UI's ExperimentKind enum in 3.17,
 * beside genai_development, finetuning, regression, ...). Set when vae-lab creates an experiment.
 */
export const EXPERIMENT_KIND_TAGS: Record<string, string> = { 'mlflow.experimentKind': 'custom_model_development' };

// The UI picks its view from this URL parameter, else from the browser's storage, which starts on GenAI: a link
// without it can open on the traces page instead of the Runs table.
const ML_VIEW = 'workflowType=machine_learning';

/** Links into the UI served at the tracking URI (credentials already stripped, as MlflowClient.trackingUri is). */
export const mlflowLinks = (trackingUri: string) => {
  const ui = `${trackingUri.replace(/\/+$/, '')}/#/experiments`;
  return {
    experiments: () => `${ui}?${ML_VIEW}`,
    experiment: (experimentId: string) => `${ui}/${experimentId}?${ML_VIEW}`,
    run: (experimentId: string, runId: string) => `${ui}/${experimentId}/runs/${runId}?${ML_VIEW}`,
    model: (experimentId: string, modelId: string) => `${ui}/${experimentId}/models/${modelId}?${ML_VIEW}`,
  };
};
