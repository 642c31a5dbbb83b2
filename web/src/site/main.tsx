import { render } from 'preact'
import '../shared/base.css'
import './site.css'
import { App } from './App.js'

render(<App />, document.getElementById('app')!)
