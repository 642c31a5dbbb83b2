import { render } from 'preact'
import '../shared/base.css'
import './admin.css'
import { Console } from './Console.js'

render(<Console />, document.getElementById('app')!)
