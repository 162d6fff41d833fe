// Rendered by vendorer for the profile python361x64.

@description('The site\'s name')
param siteName string

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: siteName
}

resource pythonExtension 'Microsoft.Web/sites/siteextensions@2015-08-01' = {
  parent: site
  name: 'python361x64'
}
