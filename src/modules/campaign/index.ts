export { campaignManifest as manifest } from './campaign.manifest.js'
export { campaignRoutes as routes } from './campaign.routes.js'
export { type CampaignService, createCampaignService } from './campaign.service.js'
